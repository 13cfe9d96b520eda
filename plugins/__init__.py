"""Sector rule plugins shipped with inspect-core (food, drugs, special equipment, construction)."""

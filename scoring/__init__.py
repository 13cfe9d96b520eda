"""Quality-credit risk scoring: features, scorecard, ML risk model, tiers, evaluation."""

"""Model training, evaluation, registry and batch scoring (model-and-serving.md)."""

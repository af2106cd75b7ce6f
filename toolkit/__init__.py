"""nerkit: fine-tune, evaluate, document and publish token-classification (NER) models."""

__version__ = "0.1.0"

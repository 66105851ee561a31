"""The CNNs (photoz.models.build: build_model, heads) and their config schemas (photoz.models.schema).

Kept free of imports so that reading the schemas (every entry point does) does not import torch.
"""

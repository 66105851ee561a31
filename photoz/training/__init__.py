"""CNN training: normalisation, augmentation, the training loop and the CNN estimator."""

"""How a CNN is trained: normalisation, augmentation, batches, the loop, checkpoints, runtime (the estimator is photoz.estimators.cnn)."""

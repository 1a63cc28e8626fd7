"""Dataset loaders per modality, collators, augmentations."""

"""Reference ML pipeline: prepare, train and evaluate a breast-cancer classifier."""

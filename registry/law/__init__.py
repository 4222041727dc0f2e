"""Reference law: the model, its strict loader from data/, storage of each loaded version."""

"""The customer projection: the shapes of everything a customer key or webhook receives."""

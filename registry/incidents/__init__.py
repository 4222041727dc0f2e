"""Personal-data breaches at sub-processors, and their notification to customers."""

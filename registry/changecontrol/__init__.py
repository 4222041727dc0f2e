"""Change control by risk (Art. 28(2)): which changes to a sub-processor need notice."""

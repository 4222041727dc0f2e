"""The change events every feature records; changes/ serves them as the change feed."""

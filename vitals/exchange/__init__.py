"""Moving recordings in and out of Chairside in documented, open formats."""

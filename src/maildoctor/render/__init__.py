"""Front ends only render reports; they never decide what is wrong."""

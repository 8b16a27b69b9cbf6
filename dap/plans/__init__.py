"""Digital Action Plans: goals, little-and-often check-ins, rhythm, review, completion."""

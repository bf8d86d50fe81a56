"""Vector arithmetic in embedding spaces (notebook 07); the public API is listed by the word part."""

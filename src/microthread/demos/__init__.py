"""Small, real programs that prove the claims the slides make."""

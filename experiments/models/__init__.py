"""Model code shared by several tasks: sequence models, the token decoder, the translation
model, losses, and parameter files."""

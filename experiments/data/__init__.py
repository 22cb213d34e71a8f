"""Data: dataset descriptions, finding or downloading them, reading files, text and vocabulary."""

"""Text normalisation shared by the data sets that read what users type."""

from __future__ import annotations

# Typographic apostrophes (phones and word processors type "don’t", "O’Brien"): the shipped files
# hold only the ASCII one, so user input is read with this table applied.
APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})

"""Everything that sends transactions: building, signing, sending and confirming them."""

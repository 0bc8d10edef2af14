"""End-to-end encryption: the key directory and the to-device relay of ciphertext between devices."""

"""The data contract, loaders and the synthetic contact-history world."""

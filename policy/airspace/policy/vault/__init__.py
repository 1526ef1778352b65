"""The token vault: values behind TOKENIZE masks, encrypted, resolvable per tenant."""

"""PII detection and masking: normalize, detect, map spans back, build replacements."""

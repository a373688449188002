"""The two translation directions between the domains (healthy = A, cancer = B), named after the
generator that translates: g_h2c injects malignant features, g_c2h removes them."""

INPUT_DOMAIN = {"h2c": "healthy", "c2h": "cancer"}  # direction -> the domain its generator translates from
REVERSE = {"h2c": "c2h", "c2h": "h2c"}  # direction -> the one that translates back

"""The two domains and the two translation directions between them: every name for them.

Domains: healthy = A (label 0) and cancer = B (label 1). A direction is named after the generator
that translates it: g_h2c injects malignant features into healthy images, g_c2h removes them.
Each direction's output is judged by the discriminator of its output domain (d_cancer judges
g_h2c's fakes, d_healthy g_c2h's), as in models/breast_cycle_gan_graph.py of BreastGAN/experiment1.
"""

HEALTHY, CANCER = "healthy", "cancer"
DOMAINS = (HEALTHY, CANCER)  # index = label
H2C, C2H = "h2c", "c2h"
DIRECTIONS = (H2C, C2H)  # index = the label of the images each translates

INPUT_DOMAIN = {H2C: HEALTHY, C2H: CANCER}  # direction -> the domain its generator translates from
OUTPUT_DOMAIN = {H2C: CANCER, C2H: HEALTHY}  # direction -> the domain it translates into
REVERSE = {H2C: C2H, C2H: H2C}  # direction -> the one that translates back
FROM_DOMAIN = {HEALTHY: H2C, CANCER: C2H}  # domain -> the direction that translates its images


def generator(direction: str) -> str:
    """The network name of the generator translating `direction`: "g_h2c" or "g_c2h"."""
    return f"g_{direction}"


def discriminator(domain: str) -> str:
    """The network name of the discriminator judging `domain`'s images: "d_healthy" or "d_cancer"."""
    return f"d_{domain}"


def judge(direction: str) -> str:
    """The discriminator that judges `direction`'s fakes: the one of its output domain."""
    return discriminator(OUTPUT_DOMAIN[direction])


GENERATORS = tuple(generator(direction) for direction in DIRECTIONS)  # ("g_h2c", "g_c2h")
DISCRIMINATORS = tuple(judge(direction) for direction in DIRECTIONS)  # ("d_cancer", "d_healthy")

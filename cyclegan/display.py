"""How differences are shown to people, the same in TensorBoard's panels, `translate`'s difference
PNGs and the `artifacts` comparison figure: translated − input in image units (the model's [-1, 1]),
amplified DIFFERENCE_GAIN times about mid-grey."""

DIFFERENCE_GAIN = 4.0  # differences span -0.25..0.25 image units from black to white

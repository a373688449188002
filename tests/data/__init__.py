"""Tests of cyclegan.data: the sources, preprocessing, preparation, the tf.data pipeline and the
phantom; phantom_layouts writes phantom mammograms in the public datasets' layouts for them."""

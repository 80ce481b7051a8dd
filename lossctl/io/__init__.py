"""Reading files: images (PNG, TIFF, JPEG), arrays (NPY, NPZ), tables (CSV, TSV) and volumes (NIfTI, NRRD,
MetaImage), each checked against the memory budget before it is decoded. Nothing here knows of classes, losses or
reports."""

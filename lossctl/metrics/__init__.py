"""The metrics: the overlap scores read from confusion counts (:mod:`.overlap`), the classification metrics of
samples (:mod:`.classification`), the boundary distances (:mod:`.boundary`), clDice and Boundary IoU
(:mod:`.topology`), the instance values (:mod:`.instances`) and BraTS's lesion-wise scores (:mod:`.lesions`). Arrays
in, numbers out."""

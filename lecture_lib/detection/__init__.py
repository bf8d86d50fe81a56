"""R-CNN, Fast R-CNN and Faster R-CNN built from small parts.

Used in 03a_rcnn.ipynb (Selective Search, warped crops, SVMs, box regression), 03b_fast_rcnn.ipynb
(RoI pooling, one backbone pass per image, multi-task loss) and 03c_faster_rcnn.ipynb (anchors,
Region Proposal Network, the four-loss Faster R-CNN and the three-method comparison).
"""

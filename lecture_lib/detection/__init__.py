"""R-CNN, Fast R-CNN and Faster R-CNN built from small parts. Used in 03_* notebooks."""

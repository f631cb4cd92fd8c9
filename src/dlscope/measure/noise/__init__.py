"""SGD noise: the mini-batch gradient covariance, its spectrum and alignment; trajectory convexity; smoothed losses."""

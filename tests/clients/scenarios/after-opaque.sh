# In the image committed from the opaque container.
tree /data/opq /data/l2opq /data/spread /data/dir1 /data/modes

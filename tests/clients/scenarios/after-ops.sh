# In the image committed from the ops container.
tree /data
same /data/hl/single /data/hl/single-link
same /data/hl/f1 /data/hl/f2
same /data/top.txt /data/top-link

# In the image buildah committed.
id
tree /run-file /copied /data

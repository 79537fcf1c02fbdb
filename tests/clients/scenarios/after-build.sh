# In the image podman build made.
id
cat /home/user/whoami /home/user/euid
tree /built /data /home/user

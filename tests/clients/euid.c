#include <stdio.h>
#include <unistd.h>
int main(void){printf("ruid=%d euid=%d\n",(int)getuid(),(int)geteuid());return 0;}

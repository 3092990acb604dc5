"""Running flows written for pydiverse.pipedag: its config file, its store facade and porting."""

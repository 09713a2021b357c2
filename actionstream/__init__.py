"""ActionStream: real-time action recognition on live camera streams."""

"""Page modules of the floor; each holds one router."""

"""What a run is: images it needs (`images`), one-off runs (`run`), functions (`functions`)."""

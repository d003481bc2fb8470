"""Understanding a message: normalise, detect its language, match it to a topic or intent."""

"""Knowledge that grows: unanswered questions recorded and grouped, knowledge added by staff at run time."""

// Replaced by the PWA work.

/* Marks the page as running scripts (the diagram replaces its text fallback); a file, not inline: the pages'
   Content-Security-Policy allows scripts from this site only. */
document.documentElement.className += " js";

require "fileinto";
fileinto "one";

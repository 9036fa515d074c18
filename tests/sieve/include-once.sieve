require "include";
include :once "include-one";
include :once "include-one";

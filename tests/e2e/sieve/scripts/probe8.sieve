require ["fileinto","variables"];
set "a" "${b}x";
set "b" "${a}${a}";
set :upper :lowerfirst "c" "hello";
set :quotewildcard "d" "a*?\\";
set :length "e" "héllo";
fileinto "${a}-${b}-${c}-${d}-${e}";
require ["body", "fileinto"];

if body :text :contains "MAKE MONEY FAST" {
        fileinto "spam";
}

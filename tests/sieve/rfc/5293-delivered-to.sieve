require ["editheader"];
deleteheader :index 1 :contains "Delivered-To"
                        "bob@example.com";
